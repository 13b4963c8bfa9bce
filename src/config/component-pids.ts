/**
 * PIDs that a component in a higher layer defines but lower layers write configuration for
 * (the local farm writes `capsule.http` into every home it makes), so they need not import it.
 */
export const HTTP_PID = 'capsule.http';
