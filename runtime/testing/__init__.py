"""demo-runtime for tests: a testinfra backend (`demo-runtime://NAME`) and a pytest plugin
(registered by entry point) whose fixtures start containers and yield testinfra Hosts."""
