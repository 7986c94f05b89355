-- Why: inbound SMS (Twilio webhook) carries only the sender's phone number, so the gateway must find the client
-- across every org before it knows which org it belongs to. grains_phone leads with org_id and cannot serve that.
CREATE INDEX grains_phone_any ON grains (phone, grain_type) WHERE phone IS NOT NULL;
