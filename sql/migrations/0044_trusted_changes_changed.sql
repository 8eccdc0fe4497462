-- The columns an update changed, worked out once when the change is
-- recorded (layers.capture_changes): each report's refresh compared the two
-- rows column by column (5 ms per report for 900 sales at 1 M). NULL for an
-- insert or a delete (every column), and for the changes recorded before.
ALTER TABLE control.trusted_changes ADD COLUMN changed text[];
