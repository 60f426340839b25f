"""The web console of the review service: server-rendered pages on the same FastAPI app as the API.

* :mod:`~streams.review.console.sessions` — login with a token, an HttpOnly ``SameSite=Strict`` session
  cookie that expires, a CSRF token per session;
* :mod:`~streams.review.console.views` — what the pages show, as plain data (queue rows, highlighted
  fields, the four-eyes state in words), no HTTP;
* :mod:`~streams.review.console.live` — the live view's numbers, scraped from the workers' ``/metrics``;
* :mod:`~streams.review.console.pages` — the routes; ``templates/`` (Jinja2, autoescaped) and
  ``static/`` (CSS, one small script) beside them. Every asset is served by the app, under a strict
  Content-Security-Policy: no inline script, no CDN, no external font.
"""
