"""Files: temp paths shared between concurrent requests, hot folders that read half-written files.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import concurrent_staging_keeps_data_apart, hot_folder_waits_for_complete_files

__all__ = ["concurrent_staging_keeps_data_apart", "hot_folder_waits_for_complete_files"]
