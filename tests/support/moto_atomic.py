"""moto's server with DynamoDB's conditional writes made atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then writes, without a lock between the two: two
requests racing on one item (an attribute_not_exists put, a version check) can both pass,
which DynamoDB never allows. The races the tests run on purpose (twenty Lambdas spending one
budget, a step racing its own failure record) then fail by chance under load. One lock
around every item write makes moto's check-and-write atomic. Importing this module applies
it (the local stack's launcher does); running it starts moto's server with the arguments.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITES = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with _WRITES:
            return method(self, *args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
