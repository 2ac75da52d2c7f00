
mlp!
xqW
bh"FC*
engine_hint
hh"Relu
hprob"Softmax:x:W:bBprob