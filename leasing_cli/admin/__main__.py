from leasing_cli.admin.cli import run

run()
