"""`python -m launch PATH_TO_PHOENIX_APP`: put your own Phoenix app on phoenix-aws."""
