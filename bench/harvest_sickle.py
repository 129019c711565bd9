"""Full ListRecords harvest with Sickle; prints the record count."""
import sys
from sickle import Sickle

n = 0
for rec in Sickle(sys.argv[1], max_retries=3).ListRecords(metadataPrefix='oai_dc'):
    n += 1
    _ = rec.raw
print('records=%d' % n)
