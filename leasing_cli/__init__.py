"""Local runtime and ops CLI of the leasing service: `leasing serve`, `leasing invoke`, seeds."""
