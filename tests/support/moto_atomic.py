"""moto's server with DynamoDB's conditional writes made atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then writes, without a lock between the two: two
requests racing on one item (an attribute_not_exists put, a version check) can both pass,
which DynamoDB never allows. The races the tests run on purpose (twenty Lambdas spending one
budget, a step racing its own failure record) then fail by chance under load. One lock
around every item write makes moto's check-and-write atomic.

Reads take the same lock: moto's UpdateItem of a new item first stores the bare key, then
applies the SET actions one by one, so a GetItem in between saw an item without its
attributes (seen under load: an allowance read back with no `version`). DynamoDB applies an
update whole, so no read ever sees half of one.

Importing this module applies it (the local stack's launcher does); running it starts
moto's server with the arguments.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_ITEM_LOCK = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with _ITEM_LOCK:
            return method(self, *args, **kwargs)

    return locked


_WRITES_AND_READS = (
    "put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items",
    "get_item", "batch_get_item", "query", "scan", "transact_get_items",
)

for _name in _WRITES_AND_READS:
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
