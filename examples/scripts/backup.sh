#!/bin/sh
# Demo: "archive" a folder. Arguments: FOLDER KEEP_DAYS. BACKUP_LABEL comes from a Secret.
set -eu
folder="$1"
keep_days="$2"
echo "Archiving ${folder} (keeping ${keep_days} days of archives)"
echo "Label: ${BACKUP_LABEL:-none}"
count=$(find "$folder" -maxdepth 1 2>/dev/null | wc -l)
echo "${count} entries would be archived"
echo "Parameters reach scripts as environment variables too: BATON_PARAM_FOLDER=${BATON_PARAM_FOLDER:-unset}"
