"""The score.py host: azmlinfsrv's contract on mlk's HTTP core. Never imports the CLI.

settings.py  flags and environment → ServerSettings
script.py    import score.py, pick the run() mode        inputs.py   request → run() arguments
runner.py    run() on dedicated threads                   responses.py run() result → response
app.py       routes, ids, CORS, timeouts                  swagger.py  OpenAPI documents
workers.py   master + forked workers on one socket       main.py     `mlk serve`
"""
