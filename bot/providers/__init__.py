"""Outside providers (Twilio, Mercado Pago) and their sandbox twins, each behind a port (``ports``), the one
chosen by ``factory`` from the settings. Adapters import the ports and the platform, never a service."""
