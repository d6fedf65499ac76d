from qts.cli.main import app

app(prog_name="qts")
