// A shared library that does nothing: stands in for a user's own LD_PRELOAD entry (a tracer, a shim).
int alloclab_noop_preload_marker(void) { return 42; }
