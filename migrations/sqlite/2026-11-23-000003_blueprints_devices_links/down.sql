DROP TABLE user_devices;
DROP TABLE devices;
DROP TABLE hardware_blueprints;
