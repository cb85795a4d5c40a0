"""Stack files (`Pulumi.<stack>.yaml`) and the model that validates them."""
