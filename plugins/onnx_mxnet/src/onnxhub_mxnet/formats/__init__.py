"""MXNet's own files: symbol JSON, .params, and the attribute strings nodes carry."""
