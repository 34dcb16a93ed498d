"""Outside providers (Twilio, Mercado Pago), each behind one interface with a sandbox twin."""
