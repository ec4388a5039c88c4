"""Signal receivers of the app; connected by importing this module in AppConfig.ready()."""
