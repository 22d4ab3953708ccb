"""HTTP edge of the endpoint functions: envelope, body checks and the contract's check order."""
