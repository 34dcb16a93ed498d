"""Channel adapters: Twilio WhatsApp/SMS parsing and formatting, and Recobra's own Rasa input channel.

Nothing here touches the store or sends anything: these are pure functions and the Rasa channel,
so the Rasa server can import ``channels.recobra_input`` without the rest of the project.
"""
