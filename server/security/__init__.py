"""HTTP-level protections that apply to every request: headers, body limits, CSRF, throttling."""
