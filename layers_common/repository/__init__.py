"""DynamoDB persistence: the only package that knows keys, expressions and transactions."""
