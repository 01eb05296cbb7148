// src/maintenance: maintenance mode. The stack's `maintenance` knob (written like a release pin),
// the page the load balancer answers (the ALB's fixed response, HAProxy's return), and
// `fawkes maintenance on|off|status` on the local target and on AWS.
export { flowList, restoreKnob, setMaintenanceKnob, type KnobWrite } from "./knob.ts";
export { ALB_FIXED_RESPONSE_MAX_BYTES, MAINTENANCE_RETRY_AFTER_SECONDS, maintenancePage } from "./page.ts";
export {
  applyLocalMaintenance,
  checkApp,
  localLoadBalancerUp,
  MaintenanceError,
  maintenanceStatus,
  setMaintenance,
  type MaintenanceRequest,
  type MaintenanceResult,
  type MaintenanceStatus,
} from "./toggle.ts";
