-- Why: an org's Integrations grain used to take one turn per client event (check-in, stuck, silent), webhooks or not:
-- a hot row on a busy launch day. It now projects the event types its webhooks subscribe to, and an event is only
-- sent to it when its type is listed there (MessageWrite.OnlyIfTopic). NULL: the grain wants nothing.
ALTER TABLE grains ADD COLUMN topics text;
