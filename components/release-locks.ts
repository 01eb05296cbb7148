import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LOCK_KEY } from "../src/model/index.ts";
import { tagged, type Tags } from "./tags.ts";

/** Hash key of the lock table (one item per lock): the hosts' bootstrap uses the same constant. */
export { LOCK_KEY };

export interface ReleaseLocksArgs {
  /** The table hosts take release-hook locks in: `HostPlan.stores.lockTable`, exactly. */
  tableName: string;
  tags: Tags;
}

/**
 * The DynamoDB table hosts take locks in, so that release hooks (migrate, collectstatic, ...)
 * run exactly once per release however many hosts boot at the same time. Pay per request
 * (a few writes per release), encrypted at rest.
 */
export class ReleaseLocks extends pulumi.ComponentResource {
  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;

  constructor(name: string, args: ReleaseLocksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:storage:ReleaseLocks", name, {}, opts);
    const table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        name: args.tableName,
        billingMode: "PAY_PER_REQUEST",
        hashKey: LOCK_KEY,
        attributes: [{ name: LOCK_KEY, type: "S" }],
        serverSideEncryption: { enabled: true },
        tags: tagged(args.tags, args.tableName),
      },
      { parent: this },
    );
    this.tableName = table.name;
    this.tableArn = table.arn;
    this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn });
  }
}
