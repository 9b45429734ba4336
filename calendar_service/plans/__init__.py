"""Communications plans: the tasks each occurrence's plan template calls for, who does
them by when, their status and proof, and the follow-up report (directive, section II)."""
