"""What is owed and paid: debtors, invoices, money, payments and links, plans, promises, due dates, settlements."""
