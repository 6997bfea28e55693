"""Sends identify, track, page, group and alias through the real Segment Python client
(segment-analytics-python) to the dangol server at argv[1] with write key argv[2].
Exits non-zero if the client reports any error."""
import sys

from segment.analytics.client import Client

host, write_key, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
errors = []
client = Client(write_key, host=host, gzip=True, on_error=lambda e, batch: errors.append(repr(e)), max_retries=1)

anon = prefix + "-anon"
user = prefix + "-user"
client.page(anonymous_id=anon, name="Home", properties={"path": "/"})
client.track(anonymous_id=anon, event="Product Viewed", properties={"product_id": "PY-1", "name": "플라워향수 30ml", "category": "향수", "price": 39000})
client.identify(user, {"email": prefix + "@example.com", "name": "파이썬 고객", "email_consent": True}, anonymous_id=anon)
client.track(user, "Order Completed", {"order_id": prefix + "-order", "total": 39000, "currency": "KRW",
                                        "products": [{"product_id": "PY-1", "price": 39000, "quantity": 1}]})
client.group(user, prefix + "-company", {"name": "Acme"})
client.alias(anon + "-old", user)
client.flush()
client.join()
if errors:
    print("errors:", errors, file=sys.stderr)
    sys.exit(1)
