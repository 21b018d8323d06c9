"""HTTP routes: thin handlers that validate input, check access, and call one service.

One module per feature, named for whom it serves: `visitor_*` (no cookies), `staff_*`
(a staff session), `admin_*` (admins).  Route modules never import each other: what two
of them share lives in server/validators.py, server/access.py or a service.
"""
