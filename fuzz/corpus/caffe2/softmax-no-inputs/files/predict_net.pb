
mlp!
x
W
bh"FC*
engine_hint
hh"Reluprob"Softmax:x:W:bBprob