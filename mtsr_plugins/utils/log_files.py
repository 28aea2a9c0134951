"""Write a record to the run's log file only: the user sees one line on the terminal, the log keeps the detail."""
import logging


def log_to_files(message, level=logging.INFO, exc_info=None, logger_name='basicsr'):
    """Hand ``message`` (and the traceback of ``exc_info``, a ``(type, value, tb)`` tuple) to the
    ``logging.FileHandler``s of BasicSR's logger, not to its terminal handler."""
    record = logging.LogRecord(logger_name, level, __file__, 0, message, None, exc_info)
    for handler in logging.getLogger(logger_name).handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
