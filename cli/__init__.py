"""The `fraudnet` command line (`cli.main`)."""
