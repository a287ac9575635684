-- How a phone's STOP was recorded: texted by the phone ('sms', every
-- row before this one), or by the operator's desk on its behalf
-- ('operator': the phone's owner called and asked), with the name of the
-- token that did it. Either way only the phone lifts it (START, JOIN):
-- no route removes a row (docs/operator.md, The support desk).
ALTER TABLE optouts
	ADD COLUMN how text NOT NULL DEFAULT 'sms' CHECK (how IN ('sms', 'operator')),
	ADD COLUMN recorded_by text;	-- the operator token's name, for 'operator'
