"""The demo account that ``flask demo`` creates and ``make run`` announces."""

DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "demo-admin-password"
