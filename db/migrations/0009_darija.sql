-- Darija replies (issue 19): an account's language may be 'darija', the
-- reply catalog gateway/catalog/darija.json (Moroccan Arabic in Latin
-- letters, as Moroccans text it).
ALTER TABLE accounts DROP CONSTRAINT accounts_lang_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_lang_check
	CHECK (lang IN ('en', 'fr', 'ar', 'darija'));
