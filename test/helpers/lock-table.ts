// A stack's DynamoDB lock table in memory, behind aws-sdk-client-mock: GetItem, PutItem, UpdateItem
// and DeleteItem on its one hash key, each request's ConditionExpression evaluated as written (the
// grammar fawkes and the hosts' bootstrap use: attribute_exists / attribute_not_exists, = <> < <=
// > >=, AND, OR; numbers compared as numbers), and DynamoDB's own errors: a failed condition is a
// ConditionalCheckFailedException (with the item when ReturnValuesOnConditionCheckFailure asks for
// it), a missing table ResourceNotFoundException. Not DynamoDB: an expression outside that grammar
// throws, so a test cannot pass on one this evaluator misreads. Every client in the process answers.
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  UpdateItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";

type Item = Record<string, AttributeValue>;
interface Conditional {
  TableName?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
  ReturnValuesOnConditionCheckFailure?: string;
}

const meta = { httpStatusCode: 400 };

/** One operand of a comparison: `#name` (the item's attribute) or `:value` (the request's). */
function operand(token: string, item: Item | undefined, req: Conditional): AttributeValue | undefined {
  if (token.startsWith("#")) {
    const name = req.ExpressionAttributeNames?.[token];
    if (name === undefined) throw new Error(`expression names ${token}, which ExpressionAttributeNames does not define`);
    return item?.[name];
  }
  if (token.startsWith(":")) {
    const value = req.ExpressionAttributeValues?.[token];
    if (value === undefined) throw new Error(`expression names ${token}, which ExpressionAttributeValues does not define`);
    return value;
  }
  throw new Error(`operand ${token}: this evaluator knows #names and :values only`);
}

function compare(a: AttributeValue | undefined, op: string, b: AttributeValue | undefined): boolean {
  // DynamoDB: a comparison with a missing attribute, or of two types, is false.
  if (a === undefined || b === undefined) return false;
  const x = a.N !== undefined && b.N !== undefined ? [Number(a.N), Number(b.N)] : a.S !== undefined && b.S !== undefined ? [a.S, b.S] : undefined;
  if (!x) return false;
  const [l, r] = x as [number, number];
  return { "=": l === r, "<>": l !== r, "<": l < r, "<=": l <= r, ">": l > r, ">=": l >= r }[op] ?? fail(`operator ${op}`);
}

const fail = (what: string): never => {
  throw new Error(`${what}: outside the grammar this evaluator knows`);
};

/** Evaluates a ConditionExpression against the item as stored (undefined: no such item). */
export function conditionHolds(expression: string, item: Item | undefined, req: Conditional): boolean {
  return expression.split(/\s+OR\s+/).some((alternative) =>
    alternative.split(/\s+AND\s+/).every((term) => {
      const t = term.trim().replace(/^\((.*)\)$/, "$1");
      const fn = /^(attribute_exists|attribute_not_exists)\((#\w+)\)$/.exec(t);
      if (fn) return (operand(fn[2]!, item, req) !== undefined) === (fn[1] === "attribute_exists");
      const cmp = /^([#:]\w+)\s*(=|<>|<=|>=|<|>)\s*([#:]\w+)$/.exec(t);
      if (cmp) return compare(operand(cmp[1]!, item, req), cmp[2]!, operand(cmp[3]!, item, req));
      return fail(`condition ${JSON.stringify(t)}`);
    }),
  );
}

/** `SET #a = :x, #b = :y`: the only update expression fawkes sends. */
function applyUpdate(expression: string, item: Item, req: Conditional): Item {
  const m = /^SET\s+(.+)$/.exec(expression.trim()) ?? fail(`update ${expression}`);
  const out = { ...item };
  for (const assignment of m[1]!.split(",")) {
    const a = /^\s*(#\w+)\s*=\s*(:\w+)\s*$/.exec(assignment) ?? fail(`assignment ${assignment}`);
    out[req.ExpressionAttributeNames?.[a[1]!] ?? fail(a[1]!)] = operand(a[2]!, item, req)!;
  }
  return out;
}

/** The table `name` keyed by `key`; `exists: false` makes every call fail as on a table never made. */
export function lockTable(name: string, key: string) {
  const mock = mockClient(DynamoDBClient);
  const items = new Map<string, Item>();
  const state = { exists: true, denied: undefined as string | undefined };
  const itemKey = (k: Item | undefined) => k?.[key]?.S ?? fail(`a key without ${key}`);
  const guard = (req: Conditional, action: string) => {
    if (state.denied) throw new DynamoDBServiceException({ name: "AccessDeniedException", $fault: "client", $metadata: meta, message: `User: ${state.denied} is not authorized to perform: dynamodb:${action} on resource: arn:aws:dynamodb:eu-west-1:111122223333:table/${req.TableName} because no identity-based policy allows the dynamodb:${action} action` });
    if (!state.exists || req.TableName !== name) throw new ResourceNotFoundException({ $metadata: meta, message: "Requested resource not found" });
  };
  const check = (req: Conditional, current: Item | undefined) => {
    if (req.ConditionExpression === undefined || conditionHolds(req.ConditionExpression, current, req)) return;
    throw new ConditionalCheckFailedException({ $metadata: meta, message: "The conditional request failed", ...(req.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && current ? { Item: current } : {}) });
  };
  const install = () => {
    mock.reset();
    mock.on(GetItemCommand).callsFake((req) => {
      guard(req, "GetItem");
      const item = items.get(itemKey(req.Key));
      return item ? { Item: item } : {};
    });
    mock.on(PutItemCommand).callsFake((req) => {
      guard(req, "PutItem");
      const k = itemKey(req.Item);
      const old = items.get(k);
      check(req, old);
      items.set(k, req.Item);
      return req.ReturnValues === "ALL_OLD" && old ? { Attributes: old } : {};
    });
    mock.on(UpdateItemCommand).callsFake((req) => {
      guard(req, "UpdateItem");
      const k = itemKey(req.Key);
      const old = items.get(k);
      check(req, old);
      items.set(k, applyUpdate(req.UpdateExpression, old ?? { ...req.Key }, req));
      return {};
    });
    mock.on(DeleteItemCommand).callsFake((req) => {
      guard(req, "DeleteItem");
      const k = itemKey(req.Key);
      const old = items.get(k);
      check(req, old);
      items.delete(k);
      return req.ReturnValues === "ALL_OLD" && old ? { Attributes: old } : {};
    });
  };
  return { mock, items, state, install, restore: () => mock.restore() };
}
