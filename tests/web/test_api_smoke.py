def test_upsert_then_read(client, api_headers):
    body = {"name": "Ana", "phone": "+573001112233", "whatsapp": True, "country": "CO",
            "timezone": "America/Bogota", "document_last4": "4821", "language": "es",
            "invoices": [{"external_id": "F1", "amount": "185000.00", "currency": "COP", "due_date": "2026-11-10"}]}
    r = client.put("/api/v1/debtors/D-1", json=body, headers=api_headers)
    assert r.status_code == 201, r.json
    r = client.get("/api/v1/debtors/D-1", headers=api_headers)
    assert r.json["invoices"][0]["balance"] == "185000.00"
