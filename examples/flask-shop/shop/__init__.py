"""The sample Flask shop: a web app (shop.app) and a queue worker (shop.worker)."""
