// The fawkes security policy pack: `pulumi preview --policy-pack policy`. Constructing the pack
// starts the policy server, so nothing else lives here: the rules are in rules.ts.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("fawkes-security", { policies });
