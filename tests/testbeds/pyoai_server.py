#!/usr/bin/env python3
"""A third-party OAI-PMH data provider for oai-mirror's interop tests.

The protocol side is the PyPI `oaipmh` package (pyoai's maintained fork):
its BatchingServer writes every response and encodes every token. This file
only supplies generated records and an HTTP front on 127.0.0.1.

Records: oai:pyoai.example:NNNNNNN, one per hour from 2001-01-01, every 50th
deleted, in set "s<i % 5>". A changes file (--changes PATH), if it exists,
lists record numbers, one per line; those records get the file's mtime as
their datestamp and a second version, so a test can change the repository
between two harvests. A number with a minus sign (`-7`) deletes that
record as of the file's mtime.
"""
import argparse
import datetime as dt
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from oaipmh import common, error
from oaipmh.metadata import MetadataRegistry
from oaipmh.server import BatchingServer, oai_dc_writer

START = dt.datetime(2001, 1, 1)


class Records:
    def __init__(self, n, day, changes):
        self.n, self.day, self.changes = n, day, changes

    def _trunc(self, t):
        return t.replace(hour=0, minute=0, second=0, microsecond=0) if self.day else t.replace(microsecond=0)

    def current(self):
        """(datestamp, index, version) for every record, oldest first."""
        changed = {}
        self.gone = set()
        if self.changes and os.path.exists(self.changes):
            mtime = dt.datetime.fromtimestamp(os.path.getmtime(self.changes), dt.timezone.utc).replace(tzinfo=None)
            with open(self.changes) as f:
                for line in f:
                    if line.strip():
                        n = int(line)
                        changed[abs(n)] = mtime
                        if n < 0:
                            self.gone.add(-n)
        rows = []
        for i in range(self.n):
            if i in changed:
                rows.append((self._trunc(changed[i]), i, 2))
            else:
                rows.append((self._trunc(START + dt.timedelta(hours=i)), i, 1))
        rows.sort()
        return rows

    def header(self, stamp, i):
        deleted = i % 50 == 49 or i in getattr(self, 'gone', set())
        return common.Header(None, 'oai:pyoai.example:%07d' % i, stamp, ['s%d' % (i % 5)], deleted)

    def metadata(self, i, version):
        return common.Metadata(None, {
            'title': ['Interop record %d, version %d: A & B <c> Zürich' % (i, version)],
            'creator': ['Tester %d' % (i % 13)],
            'identifier': ['http://pyoai.example/%d' % i],
            'date': [(START + dt.timedelta(hours=i)).strftime('%Y-%m-%d')],
        })

    # The IBatchingOAI interface of oaipmh.server.
    def identify(self):
        return common.Identify(
            repositoryName='oaipmh interop server', baseURL=ARGS.base, protocolVersion='2.0',
            adminEmails=['admin@pyoai.example'], earliestDatestamp=START, deletedRecord='persistent',
            granularity='YYYY-MM-DD' if self.day else 'YYYY-MM-DDThh:mm:ssZ', compression=['identity'])

    def listMetadataFormats(self, identifier=None):
        return [('oai_dc', 'http://www.openarchives.org/OAI/2.0/oai_dc.xsd', 'http://www.openarchives.org/OAI/2.0/oai_dc/')]

    def listSets(self, cursor=0, batch_size=10):
        return [('s%d' % k, 'Set %d' % k, None) for k in range(5)][cursor:cursor + batch_size]

    def _select(self, metadataPrefix, set=None, from_=None, until=None, cursor=0, batch_size=10):
        if metadataPrefix != 'oai_dc':
            raise error.CannotDisseminateFormatError(metadataPrefix)
        rows = [r for r in self.current()
                if (from_ is None or r[0] >= from_) and (until is None or r[0] <= until)
                and (set is None or 's%d' % (r[1] % 5) == set)]
        if not rows:
            raise error.NoRecordsMatchError('No records match')
        return rows[cursor:cursor + batch_size]

    def listIdentifiers(self, **kw):
        return [self.header(s, i) for s, i, _ in self._select(**kw)]

    def listRecords(self, **kw):
        out = []
        for s, i, v in self._select(**kw):
            h = self.header(s, i)
            out.append((h, None if h.isDeleted() else self.metadata(i, v), None))
        return out

    def getRecord(self, metadataPrefix, identifier):
        i = int(identifier.rsplit(':', 1)[1])
        for s, j, v in self.current():
            if j == i:
                h = self.header(s, i)
                return h, (None if h.isDeleted() else self.metadata(i, v)), None
        raise error.IdDoesNotExistError(identifier)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def do_GET(self):
        path, _, query = self.path.partition('?')
        if path != '/oai':
            return self.send(404, b'not found', 'text/plain')
        args = parse_qs(query, keep_blank_values=True)
        if any(len(v) > 1 for v in args.values()):
            body = SERVER.handleRequest({'verb': 'Identify', 'repeated': 'x'})
        else:
            body = SERVER.handleRequest({k: v[0] for k, v in args.items()})
        self.send(200, body, 'text/xml; charset=utf-8')

    def send(self, status, body, ctype):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global ARGS, SERVER
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--records', type=int, default=1000)
    p.add_argument('--batch-size', type=int, default=100)
    p.add_argument('--granularity', choices=['seconds', 'day'], default='seconds')
    p.add_argument('--changes')
    ARGS = p.parse_args()
    ARGS.base = 'http://127.0.0.1:%d/oai' % ARGS.port
    registry = MetadataRegistry()
    registry.registerWriter('oai_dc', oai_dc_writer)
    records = Records(ARGS.records, ARGS.granularity == 'day', ARGS.changes)
    SERVER = BatchingServer(records, metadata_registry=registry, resumption_batch_size=ARGS.batch_size)
    httpd = ThreadingHTTPServer(('127.0.0.1', ARGS.port), Handler)
    httpd.daemon_threads = True
    httpd.serve_forever()


if __name__ == '__main__':
    main()
