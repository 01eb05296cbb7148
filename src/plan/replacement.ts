// Which input changes replace a resource instead of updating it in place: the fields the AWS APIs
// cannot change after creation (the provider's "forces new resource"), for the resource types the
// components register. Under mocks there is no provider to ask, so the plan reads this table;
// `pulumi preview --diff`, with the provider, remains the authority.

/** Top-level input names whose change replaces a resource of the type. */
export const REPLACED_BY: Readonly<Record<string, readonly string[]>> = {
  "pulumi:providers:aws": ["region"],
  "aws:autoscaling/group:Group": ["name", "namePrefix"],
  "aws:backup/plan:Plan": ["name"],
  "aws:backup/selection:Selection": ["name", "planId", "iamRoleArn", "resources", "notResources", "selectionTags", "conditions"],
  "aws:backup/vault:Vault": ["name", "kmsKeyArn"],
  "aws:cloudwatch/eventRule:EventRule": ["name", "namePrefix", "eventBusName"],
  "aws:cloudwatch/eventTarget:EventTarget": ["rule", "targetId", "eventBusName"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix", "logGroupClass"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
  "aws:dynamodb/table:Table": ["name", "hashKey", "rangeKey"],
  "aws:ec2/eip:Eip": ["domain", "networkBorderGroup", "publicIpv4Pool"],
  "aws:ec2/internetGateway:InternetGateway": [],
  "aws:ec2/launchTemplate:LaunchTemplate": ["name", "namePrefix"],
  "aws:ec2/natGateway:NatGateway": ["allocationId", "subnetId", "connectivityType", "privateIp"],
  "aws:ec2/route:Route": ["routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"],
  "aws:ec2/routeTable:RouteTable": ["vpcId"],
  "aws:ec2/routeTableAssociation:RouteTableAssociation": ["subnetId", "gatewayId"],
  "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "description", "vpcId"],
  "aws:ec2/subnet:Subnet": ["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "ipv6Native"],
  "aws:ec2/vpc:Vpc": ["cidrBlock", "instanceTenancy", "ipv4IpamPoolId"],
  "aws:efs/accessPoint:AccessPoint": ["fileSystemId", "posixUser", "rootDirectory"],
  "aws:efs/fileSystem:FileSystem": ["creationToken", "encrypted", "kmsKeyId", "performanceMode", "availabilityZoneName"],
  "aws:efs/mountTarget:MountTarget": ["fileSystemId", "subnetId", "ipAddress"],
  // Image Builder components and recipes are immutable versions: every input but the tags makes a new one.
  "aws:imagebuilder/component:Component": ["name", "version", "data", "uri", "platform", "description", "changeDescription", "kmsKeyId", "supportedOsVersions"],
  "aws:imagebuilder/distributionConfiguration:DistributionConfiguration": ["name"],
  "aws:imagebuilder/imagePipeline:ImagePipeline": ["name"],
  "aws:imagebuilder/imageRecipe:ImageRecipe": ["name", "version", "parentImage", "components", "blockDeviceMappings", "description", "systemsManagerAgent", "userDataBase64", "workingDirectory"],
  "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration": ["name"],
  "aws:iam/instanceProfile:InstanceProfile": ["name", "namePrefix", "path"],
  "aws:iam/policy:Policy": ["name", "namePrefix", "path", "description"],
  "aws:iam/role:Role": ["name", "namePrefix", "path"],
  "aws:iam/rolePolicy:RolePolicy": ["name", "namePrefix", "role"],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["role", "policyArn"],
  "aws:kms/alias:Alias": ["name", "namePrefix"],
  "aws:kms/key:Key": ["customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"],
  "aws:lb/listener:Listener": ["loadBalancerArn"],
  "aws:lb/listenerRule:ListenerRule": ["listenerArn"],
  "aws:lb/loadBalancer:LoadBalancer": ["name", "namePrefix", "internal", "loadBalancerType"],
  "aws:lb/targetGroup:TargetGroup": ["name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType"],
  "aws:rds/instance:Instance": [
    "identifier",
    "identifierPrefix",
    "engine",
    "username",
    "dbName",
    "storageEncrypted",
    "kmsKeyId",
    "availabilityZone",
    "characterSetName",
    "ncharCharacterSetName",
    "timezone",
    "snapshotIdentifier",
    "restoreToPointInTime",
    "s3Import",
    "customIamInstanceProfile",
  ],
  "aws:rds/parameterGroup:ParameterGroup": ["name", "namePrefix", "family", "description"],
  "aws:rds/subnetGroup:SubnetGroup": ["name", "namePrefix"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix"],
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["bucket"],
  "aws:s3/bucketPolicy:BucketPolicy": ["bucket"],
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["bucket"],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketVersioning:BucketVersioning": ["bucket", "expectedBucketOwner"],
  "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
  "aws:sns/topicPolicy:TopicPolicy": ["arn"],
  "aws:sns/topicSubscription:TopicSubscription": ["topic", "protocol", "endpoint"],
  "aws:sqs/queue:Queue": ["name", "namePrefix", "fifoQueue"],
  "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": ["queueUrl"],
  "aws:ssm/parameter:Parameter": ["name"],
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["securityGroupId"],
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
};

/** Where the data lives: replacing or deleting one of these loses it. */
export const STORAGE_TYPES: readonly string[] = ["aws:efs/fileSystem:FileSystem", "aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:rds/instance:Instance"];

/** The load balancer: replacing it changes the DNS name every record points at, and drops connections. */
export const LOAD_BALANCER_TYPES: readonly string[] = ["aws:lb/loadBalancer:LoadBalancer"];

/** The top-level input a property path starts with: `rootDirectory.path` -> `rootDirectory`. */
export function topLevel(path: string): string {
  return /^[^.[]*/.exec(path)![0];
}

/**
 * The changed inputs that replace a resource of this type. A type the table does not know is
 * treated as replaced by any change: the plan never calls a replacement an update.
 */
export function replacingPaths(type: string, changedPaths: readonly string[]): string[] {
  const fields = REPLACED_BY[type];
  if (fields === undefined) return [...changedPaths];
  return changedPaths.filter((p) => fields.includes(topLevel(p)));
}
