-- The settings' defaults live once, in pigeond (issue 12): the SQL
-- functions that read a setting take no default any more.
DROP FUNCTION IF EXISTS pigeon_setting(text, text);
DROP FUNCTION IF EXISTS pigeon_setting_int(text, integer);
