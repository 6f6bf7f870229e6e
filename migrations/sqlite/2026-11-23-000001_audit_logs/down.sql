DROP TRIGGER audit_logs_refuse_delete;
DROP TRIGGER audit_logs_refuse_update;
DROP TABLE audit_logs;
