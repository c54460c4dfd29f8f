"""Boxes: anchor generation (`anchors`), formats and SSD coding (`coding`), IoU (`iou`)."""
