"""Full ListRecords harvest with oaipmh-scythe; prints the record count."""
import sys
from oaipmh_scythe import Scythe

n = 0
with Scythe(sys.argv[1]) as s:
    for rec in s.list_records(metadata_prefix='oai_dc'):
        n += 1
        _ = rec.raw
print('records=%d' % n)
