"""Process wiring for Lianxin: configuration, storage, bootstrap and the command line."""
