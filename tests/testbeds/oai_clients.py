"""Harvests an OAI-PMH repository with a third-party client from PyPI and
prints what it got, one JSON object per record: identifier, deleted, and the
metadata's text content. For the interop tests of `oai-mirror serve`.

    python oai_clients.py CLIENT BASE_URL [FROM]

CLIENT is pyoai (the `oaipmh` package's client), sickle or scythe
(oaipmh-scythe). With FROM, the harvest is incremental from that date.
"""
import json
import sys

from lxml import etree

client, url = sys.argv[1], sys.argv[2]
since = sys.argv[3] if len(sys.argv) > 3 else None
OAI = '{http://www.openarchives.org/OAI/2.0/}'


def text_of(metadata_element):
    """The metadata's text, as a comparable string (whitespace squeezed)."""
    if metadata_element is None:
        return None
    return ' '.join(''.join(metadata_element.itertext()).split())


def emit(identifier, deleted, metadata):
    print(json.dumps({'identifier': identifier, 'deleted': bool(deleted), 'text': metadata}))


if client == 'pyoai':
    from oaipmh.client import Client
    from oaipmh.metadata import MetadataRegistry, MetadataReader
    import datetime
    registry = MetadataRegistry()
    # A reader that keeps the element: the text is compared, not the fields.
    registry.registerReader('oai_dc', lambda element: element)
    c = Client(url, registry)
    args = {'metadataPrefix': 'oai_dc'}
    if since:
        args['from_'] = datetime.datetime.strptime(since, '%Y-%m-%dT%H:%M:%SZ')
    try:
        for header, metadata, about in c.listRecords(**args):
            emit(header.identifier(), header.isDeleted(), None if header.isDeleted() else text_of(metadata))
    except Exception as e:  # noRecordsMatch is an empty list to us
        if type(e).__name__ != 'NoRecordsMatchError':
            raise
elif client == 'sickle':
    from sickle import Sickle
    from sickle.oaiexceptions import NoRecordsMatch
    args = {'metadataPrefix': 'oai_dc', 'ignore_deleted': False}
    if since:
        args['from'] = since
    try:
        for rec in Sickle(url, max_retries=1).ListRecords(**args):
            md = rec.xml.find(OAI + 'metadata')
            emit(rec.header.identifier, rec.header.deleted, None if rec.header.deleted else text_of(md))
    except NoRecordsMatch:
        pass
elif client == 'scythe':
    from oaipmh_scythe import Scythe
    from oaipmh_scythe.exceptions import NoRecordsMatch
    args = {'metadata_prefix': 'oai_dc', 'ignore_deleted': False}
    if since:
        args['from_'] = since
    try:
        with Scythe(url) as s:
            for rec in s.list_records(**args):
                md = rec.xml.find(OAI + 'metadata')
                emit(rec.header.identifier, rec.header.deleted, None if rec.header.deleted else text_of(md))
    except NoRecordsMatch:
        pass
else:
    sys.exit('unknown client %s' % client)
