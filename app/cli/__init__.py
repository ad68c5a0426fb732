"""The command line: `main` dispatches to one module per subcommand; `errors` sits below them."""
