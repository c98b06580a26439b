"""The annual random-inspection plan (Art. 9): entries, versions, periods and estimates."""
